import sys
from pathlib import Path

# helpers shared by the tests (golden replays, loop-based oracles) live here
sys.path.insert(0, str(Path(__file__).resolve().parent))
