#!/usr/bin/env bash
# Fetches pinned third-party test material into .cache/ (placeholder; filled by the tokenizer work).
exit 0
