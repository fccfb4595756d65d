from sw_nlp.cli import main

raise SystemExit(main())
