"""Reports a person reads: validation reports (JSON, Markdown, HTML), their maps, "what changed", the guide."""
