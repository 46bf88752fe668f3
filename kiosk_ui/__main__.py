import sys

from kiosk_ui import main

sys.exit(main(sys.argv[1:]))
