# The two commands of the README. Both install what is missing first.
.PHONY: setup demo test fixtures bench clean

setup:
	@scripts/setup.sh

# Trains the demo CNN on the bundled MNIST data and writes runs/demo/.
demo: setup
	swift build -c release --product glassbox
	.build/release/glassbox demo --out runs/demo

test: setup
	@scripts/test.sh

# Regenerates test fixtures (needs Python; CI does not run this).
fixtures:
	sudo=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); $$sudo apt-get install -y -qq python3-torch python3-venv >/dev/null
	[ -d .venv-tools ] || /usr/bin/python3 -m venv --system-site-packages .venv-tools
	.venv-tools/bin/pip install -q -r tools/requirements.txt
	.venv-tools/bin/python tools/make_fixtures.py
	.venv-tools/bin/python tools/make_attribution_fixtures.py
	.venv-tools/bin/python tools/make_evaluation_fixtures.py

clean:
	rm -rf .build runs

# Times attribution against Captum (needs Python; installs the peer once).
bench: setup
	sudo=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); $$sudo apt-get install -y -qq python3-torch python3-venv >/dev/null
	[ -d .venv-tools ] || /usr/bin/python3 -m venv --system-site-packages .venv-tools
	.venv-tools/bin/pip install -q -r tools/requirements.txt
	swift build -c release --product glassbox
	.build/release/glassbox bench attribution
