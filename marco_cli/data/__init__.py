"""Data files shipped with marco: the model registry (`models.yaml`), the ISO 639-1 language
table (`languages.tsv`) and the curated Chinese slang glossary (`slang_zh.yaml`)."""
