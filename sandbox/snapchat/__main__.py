from sandbox.common.cli import main_one

main_one("snapchat")
