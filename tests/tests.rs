// Integration tests: see the modules below.
