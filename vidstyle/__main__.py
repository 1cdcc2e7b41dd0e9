"""``python -m vidstyle``: the console script, with its clean stop on SIGTERM and SIGHUP."""

from vidstyle.cli import main_exit

main_exit()
