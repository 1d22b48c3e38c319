#!/usr/bin/env bash
# The schema tables in the READMEs are exactly what the option tables generate.
exec scripts/gendocs.sh --check
