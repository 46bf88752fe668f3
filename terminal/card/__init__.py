"""Card access in three tiers.

Connection (bytes), protocol processors (GET RESPONSE, chaining), session (the applet).
"""
