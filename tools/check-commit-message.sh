#!/usr/bin/env bash
# The commit-message rule (docs/contributing.md): a subject of at most 72 characters in the imperative,
# a blank line, then the detail. Used as the repo's commit-msg hook (.githooks/commit-msg) on one message,
# and by .ci/run over every commit since the rule began.
set -euo pipefail

# the last commit made before the rule; everything after it must follow it
RULE_START=65d3f56

check_subject() { # <subject> <where>
  local subject=$1 where=$2
  if [ -z "$subject" ]; then echo "$where: empty subject" >&2; return 1; fi
  if [ "${#subject}" -gt 72 ]; then echo "$where: subject has ${#subject} characters (at most 72): $subject" >&2; return 1; fi
  if [[ "$subject" =~ \.$ ]]; then echo "$where: subject ends with a full stop: $subject" >&2; return 1; fi
  if [[ "$subject" =~ ^(Added|Adds|Fixed|Fixes|Changed|Changes|Updated|Updates|Removed|Removes)\  ]]; then
    echo "$where: write the subject in the imperative (Add, Fix …): $subject" >&2; return 1
  fi
}

if [ "${1:-}" = "--since-rule" ]; then
  if ! git cat-file -e "$RULE_START^{commit}" 2>/dev/null; then
    echo "commit messages: $RULE_START is not in this clone (shallow?): not checked"; exit 0
  fi
  failed=0
  while IFS=$'\t' read -r sha subject; do
    check_subject "$subject" "commit $sha" || failed=1
  done < <(git log --no-merges --format='%h%x09%s' "$RULE_START..HEAD")
  body_gap=$(git log --no-merges --format='%h %B%x00' "$RULE_START..HEAD" | awk 'BEGIN{RS="\0"} NF { n=split($0, l, "\n"); if (n > 1 && l[2] != "") print l[1] }' | cut -d' ' -f1)
  for sha in $body_gap; do echo "commit $sha: leave a blank line between the subject and the body" >&2; failed=1; done
  [ "$failed" = 0 ] && echo "commit messages: $(git rev-list --count --no-merges "$RULE_START..HEAD") since the rule, all follow it"
  exit "$failed"
fi

# as a hook: the message file git hands over (comments and the trailing blank lines ignored)
message=$(grep -v '^#' "$1")
check_subject "$(printf '%s\n' "$message" | head -1)" "commit message"
second=$(printf '%s\n' "$message" | sed -n 2p)
if [ -n "$second" ]; then echo "commit message: leave a blank line after the subject" >&2; exit 1; fi
