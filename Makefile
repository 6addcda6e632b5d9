# Shortcuts for the scripts in scripts/ (the README's two commands need no make).
.PHONY: setup demo test fixtures bench clean

setup:
	@scripts/setup.sh

demo:
	@scripts/demo.sh

test:
	@scripts/test.sh

bench:
	@scripts/bench.sh

fixtures:
	@scripts/fixtures.sh

clean:
	rm -rf .build runs
