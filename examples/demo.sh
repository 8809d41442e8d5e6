#!/usr/bin/env bash
# `make demo`: a registry with two models, from scratch, then the server.
#  1. COMPAS, audited against the default policy: the gate fails it (exit 1), as it should.
#  2. A savings-offer model trained on the shipped UCI Adult data: registered with its artifact and
#     training profile, audited with every probe, one failing check accepted by an executive (with a
#     reason and an end date), approved, deployed behind a guarded endpoint, and sent some decisions.
#  3. A small organisation around them (examples/org/seed.py): teams, people with keys, and models in every
#     state the central team's standards console tells apart; then the standards table, and the console.
# Steps 1 and 2 are `steward` commands made with an API key, as a team would run them; step 3 writes through the
# library, as the teams would have over the months (records it dates back are marked so in the trail).
set -euo pipefail
BIN="${BIN:-.venv/bin}"
PORT="${1:-8000}"
DB=".steward/demo.db"
WORK=".steward/demo"
rm -rf "$DB" "$DB-wal" "$DB-shm" "$DB.trail-key" "$WORK"
mkdir -p "$WORK"
export STEWARD_DATABASE_URL="sqlite:///$PWD/$DB"
S="$BIN/steward"
key_of() { grep -o 'stw_[A-Za-z0-9_-]*' | tail -n 1; }

# The first use of the registry creates its admin and prints the admin's key once; the admin makes the others.
made="$("$S" keys create --name demo --role viewer --role developer --role operator 2>&1)"
echo "$made"
admin_key="$(echo "$made" | grep -o 'stw_[A-Za-z0-9_-]*' | head -n 1)"
demo_key="$(echo "$made" | key_of)"
exec_key="$(STEWARD_API_KEY="$admin_key" "$S" keys create --name demo-executive --role executive --role validator | key_of)"
export STEWARD_API_KEY="$demo_key"

echo "== COMPAS, held to the default policy"
set +e
"$S" audit "$("$S" datasets path compas)" --label two_year_recid --score decile_score --threshold 5 --favourable 0 \
    --protected race=Caucasian --protected sex=Male --policy default \
    --card-info "$("$S" datasets path compas-card)" --junit reports/compas/junit.xml --out reports/compas \
    --register compas-recidivism:broward-2013
code=$?
set -e
if [ $code -eq 1 ]; then echo "The policy gate failed COMPAS (exit 1), as it should; open reports/compas/report.html";
elif [ $code -ne 0 ]; then exit $code; fi

echo "== A savings-offer model on UCI Adult: train, register, audit, accept, approve, deploy"
"$BIN/python" examples/adult_credit/train.py "$WORK"
"$S" models register adult-savings --purpose "Chooses which customers are offered a savings product" \
    --domain marketing --owner "Demo team" --executive "demo-executive"
"$S" models version adult-savings:0.9 --artifact "$WORK/model-0.9.txt"
"$S" models version adult-savings:1.0 --artifact "$WORK/model-1.0.txt" --training-data "$WORK/train.csv"
set +e
"$S" audit "$WORK/test.csv" --label income --positive-label '>50K' --favourable 1 \
    --protected sex=Male --protected race=White --features "$(cat "$WORK/features.txt")" \
    --model "$WORK/model-1.0.txt" --train "$WORK/train.csv" --previous "$WORK/model-0.9.txt" \
    --reasons "$WORK/reasons.yaml" --monotone "$WORK/monotone.yaml" --scenarios "$WORK/scenarios.yaml" \
    --card-info "$WORK/card.yaml" --policy default --out reports/adult-savings --register adult-savings:1.0
code=$?
set -e
[ $code -le 1 ] || exit $code
until="$("$BIN/python" -c 'import datetime as d; print(d.date.today() + d.timedelta(days=90))')"
STEWARD_API_KEY="$exec_key" "$S" accept adult-savings:1.0 --check slices --until "$until" \
    --reason "Errors concentrate in married households, as in every model of this data; offers are not decisions with legal effect"
"$S" approve adult-savings:1.0
"$S" deploy adult-savings:1.0 --name savings-offer --benchmark adult-savings:0.9 --guard "$WORK/guard.yaml"
caller_key="$(STEWARD_API_KEY="$admin_key" "$S" keys create --name demo-app --role caller --deployment savings-offer | key_of)"

echo "== The server, and an application's first decisions through the guard"
"$S" serve --port "$PORT" &
server=$!
trap 'kill $server 2>/dev/null' EXIT
for _ in $(seq 1 100); do
    "$BIN/python" -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$PORT/api/health', timeout=1)" 2>/dev/null && break
    sleep 0.2
done
"$BIN/python" examples/adult_credit/traffic.py "http://127.0.0.1:$PORT" "$caller_key" savings-offer "$WORK/test.csv" 200

echo "== A monitor of the deployment's log: windows of 100 decisions against the version's profile and audit"
"$S" monitor create savings-watch --deployment savings-offer --window count --size 100
set +e
"$S" monitor run savings-watch   # exit 1 when a window raised an alert: the alerts are the demo's point
code=$?
set -e
[ $code -le 1 ] || exit $code
"$S" monitor report savings-watch --out reports/savings-watch.html

echo "== A small organisation: teams, people with keys, and models in every state the standards tell apart"
"$BIN/python" examples/org/seed.py "$WORK/org"
echo "== The standards, as the central team sees them"
COLUMNS="${COLUMNS:-160}" "$S" standards
echo "The central team's console: http://127.0.0.1:$PORT/standards (log in with the governance key above)"
echo "Log in at http://127.0.0.1:$PORT/ with the demo key above; the deployment page is /deployments/savings-offer"
echo "(its kill switch and its monitor are there; /monitors/savings-watch). The application's caller key: $caller_key"
wait $server
