"""The composition root: the ``kartu`` console command wires the packages together.

Nothing imports ``kartu``; it may import every package. Each subcommand imports what it needs
lazily, so ``kartu read`` never loads Qt and ``kartu demo --headless`` never loads pyscard.
"""
