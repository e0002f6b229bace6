from sandbox.common.cli import main_all

main_all()
