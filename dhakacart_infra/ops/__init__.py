"""The ops tool: `python -m dhakacart_infra.ops` (backups, restores, exports, smoke and load tests).

It replaces the old platform's db-backup.sh, integration-test.sh and load-test.sh.
"""
