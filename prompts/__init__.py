"""The prompt files shipped with marco (installed as `marco_cli.prompt_files`)."""
