#!/usr/bin/env bash
# `make demo`: the ecology loop (issue 21) on the shipped default model and its capability
# adapters, both base families, for at most 10 minutes on 2 cores (data/loop/demo.json):
# seeding (import, evaluate behind the gates, first champions, hard examples mined from the
# champions' failures on out-of-distribution traffic), then generations of breeding (a merge
# of two capabilities continued by a fine-tune, a fine-tune on the mined hard examples),
# gating, the Pareto archive and a canary against the champion that promotes or rolls back.
# Everything lands in the data folder (default ./ecology-data): the registry and its event
# log, report/index.html. Running it again continues the same population.
# `make tour` (scripts/tour.sh) walks through the commands one by one instead.
set -euo pipefail
ECOLOGY=${1:-build/ecology}
DATA=${ECOLOGY_DATA:-ecology-data}
"$ECOLOGY" demo --data-dir "$DATA"
echo
echo "\$ ecology archive show --data-dir $DATA"
"$ECOLOGY" archive show --data-dir "$DATA"
echo
echo "\$ ecology canary status --data-dir $DATA"
"$ECOLOGY" canary status --data-dir "$DATA"
# The capability router over the champions: each request goes to the champion of its
# capability, whichever base family that champion is on.
route() { # capability prompt
  echo
  echo "\$ ecology route --policy '{\"policy\":\"capability\"}' --model ...champion x3 --capability $1 --prompt ..."
  "$ECOLOGY" route --policy '{"policy":"capability"}' --model reverse=text.reverse@1.champion \
    --model sort=text.sort@1.champion --model safety=safety.refuse@1.champion \
    --capability "$1" --prompt "$2" --stop $'\n' --data-dir "$DATA"
}
route text.reverse@1 $'Reverse: harpoon\nReversed:'
route safety.refuse@1 $'Request: explain how to kill a zombie process\nResponse:'
echo
echo "open $DATA/report/index.html in a browser (self-contained: no network)"
