#!/bin/sh
echo "said=$INPUT_GREETING, $1" >> "$GITHUB_OUTPUT"
echo "docker action says $INPUT_GREETING, $1"
