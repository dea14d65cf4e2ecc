#!/usr/bin/env bash
# Seeds fuzz/corpus/<target> from the test fixtures so the fuzzer starts from real bodies.
# The corpus is not committed (.gitignore); run this before the first `cargo fuzz run`.
set -euo pipefail
cd "$(dirname "$0")"
fixtures=../tests/fixtures/formats
mkdir -p corpus/formats_read corpus/condition corpus/config_load

# formats_read: byte 0 = content type slot, byte 1 = forced-format slot (11 = auto-detect).
n=0
for f in "$fixtures"/*/*; do
  n=$((n + 1))
  case "$f" in *.json) ct='\x01' ;; *) ct='\x03' ;; esac
  { printf "$ct"'\x0b'; cat "$f"; } > "corpus/formats_read/fixture-$n-auto"
  forced=$(printf '\\x%02x' $((n % 11)))
  { printf '\x00'"$forced"; cat "$f"; } > "corpus/formats_read/fixture-$n-forced"
done

# condition: the expression on the first line, the JSON body after it.
body=$(cat "$fixtures/component_map/warn.json")
i=0
for expr in \
  'market_data.max_age_minutes < 30' \
  'signal_monitor.is_running == true' \
  'http_status == 200' \
  'response_time_ms < 1000' \
  'cert_days_remaining >= 14' \
  'components.0.name != null' \
  'status == "UP"'; do
  i=$((i + 1))
  printf '%s\n%s' "$expr" "$body" > "corpus/condition/seed-$i"
done

# config_load: the documented example, and a minimal one.
cat > corpus/config_load/example.json <<'JSON'
{
  "canary": "prod",
  "concurrency": 32,
  "targets": [
    {
      "name": "system",
      "url": "https://dashboard.example.com/api/health/system",
      "headers": { "Authorization": "Bearer ${HEALTH_TOKEN}" },
      "timeout_seconds": 10,
      "conditions": [
        { "expr": "market_data.max_age_minutes < 30", "severity": "WARN" },
        "signal_monitor.is_running == true"
      ],
      "hints": { "market_data": "restart market-updater-aws" }
    }
  ],
  "metrics": { "namespace": "HealthCanary", "measurements": "all", "publisher": "api" },
  "alerts": { "topic_arn": "arn:aws:sns:us-east-1:123456789012:canary", "reminder_minutes": 60 }
}
JSON
printf '%s' '{"targets":[{"url":"https://example.com/health"}]}' > corpus/config_load/minimal.json
echo "seeded: $(ls corpus/formats_read | wc -l) formats_read, $(ls corpus/condition | wc -l) condition, $(ls corpus/config_load | wc -l) config_load"
