from drviz.cli import main

raise SystemExit(main())
