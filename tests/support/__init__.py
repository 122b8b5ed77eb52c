"""What the tests share: each module named for what it does (README.md beside tests/)."""
