from marco_cli.cli import main

main()
