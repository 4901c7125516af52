import sys
from pathlib import Path

# The example is a plain module beside its tests, as a small project would have it.
sys.path.insert(0, str(Path(__file__).parent))
