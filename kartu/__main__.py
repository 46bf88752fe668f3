from kartu.cli import main

raise SystemExit(main())
