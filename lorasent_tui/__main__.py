from lorasent_tui.cli import main

raise SystemExit(main())
