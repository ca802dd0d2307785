# Junction developer targets. `make test` is what CI runs (.ci/run).
GO ?= go
FUZZTIME ?= 60s

.PHONY: all build test race lint fuzz bench run demo tidy

all: lint test

build:
	$(GO) build -o bin/junction ./cmd/junction

# The whole suite, race detector on: the README's test command.
test:
	$(GO) test -race ./... && $(GO) test ./transport ./wamp/codec

race: test

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

# Each fuzzer (decoders, RawSocket handshake and framing, the router's
# configuration file) for FUZZTIME (go test -fuzz takes one target at a time).
fuzz:
	$(GO) test -run XXX -fuzz '^FuzzDecodeJSON$$' -fuzztime $(FUZZTIME) ./wamp/codec/
	$(GO) test -run XXX -fuzz '^FuzzDecodeMsgPack$$' -fuzztime $(FUZZTIME) ./wamp/codec/
	$(GO) test -run XXX -fuzz '^FuzzDecodeCBOR$$' -fuzztime $(FUZZTIME) ./wamp/codec/
	$(GO) test -run XXX -fuzz '^FuzzJSONScan$$' -fuzztime $(FUZZTIME) ./wamp/codec/
	$(GO) test -run XXX -fuzz '^FuzzRawSocketHandshake$$' -fuzztime $(FUZZTIME) ./transport/
	$(GO) test -run XXX -fuzz '^FuzzRawSocketFraming$$' -fuzztime $(FUZZTIME) ./transport/
	$(GO) test -run XXX -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./cron/
	$(GO) test -run XXX -fuzz '^FuzzNodeConfig$$' -fuzztime $(FUZZTIME) ./internal/cli/
	$(GO) test -run XXX -fuzz '^FuzzCLISettingsFile$$' -fuzztime $(FUZZTIME) .
	$(GO) test -run XXX -fuzz '^FuzzCLIArgs$$' -fuzztime $(FUZZTIME) .

bench:
	$(GO) test -run XXX -bench . -benchmem ./...

# The demo: an app on 127.0.0.1:8080 (router, HTTP, RPC, queue, cron) and two clients that use it.
run demo:
	$(GO) run ./cmd/junction demo

tidy:
	$(GO) mod tidy
