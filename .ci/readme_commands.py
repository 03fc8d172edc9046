"""Print the README's two set-up commands (the first two ```bash blocks under "Set-up on a fresh
machine"), one per line, so that CI runs them exactly as written."""

import pathlib
import re
import sys

text = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "README.md").read_text()
section = text.split("## Set-up on a fresh machine", 1)[1].split("\n## ", 1)[0]
blocks = [b.strip() for b in re.findall(r"```bash\n(.*?)```", section, flags=re.S)]
if len(blocks) < 2 or any("\n" in b for b in blocks[:2]):
    sys.exit("README.md: expected two one-line ```bash commands under 'Set-up on a fresh machine'")
print(blocks[0])
print(blocks[1])
