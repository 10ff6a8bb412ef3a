"""The headless commands, one module each (lookup, link, db, credentials, check-config, scripts, and the GUI
launch request); cli.py parses the arguments and calls them. None of them imports Qt: tests/test_layering.py
checks."""
