# streamx: make build | make test | make bench | make golden | make sample
GO      ?= go
BIN     ?= bin/streamx
export CGO_ENABLED ?= 0

.PHONY: build test test-short vet lint bench golden sample fuzz clean

STATICCHECK ?= $(shell command -v staticcheck || echo $$(go env GOPATH)/bin/staticcheck)

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/streamx

vet:
	$(GO) vet ./...

# staticcheck is installed by .ci/run (go install honnef.co/go/tools/cmd/staticcheck@v0.8.2)
lint: vet
	@if [ -x "$(STATICCHECK)" ]; then $(STATICCHECK) ./...; else echo "staticcheck not installed: skipped (go install honnef.co/go/tools/cmd/staticcheck@v0.8.2)"; fi

# The whole suite: unit, golden, synthetic, the public-capture conformance
# tests (skipped with a message when ../shared/pcaps/real is absent) and the
# race detector over the concurrent parts.
test: lint
	$(GO) test -count=1 ./...
	CGO_ENABLED=1 $(GO) test -count=1 -race ./engine/... ./flowtable/... ./assembler/... ./sink/... ./manifest/... ./extractors/... ./analysis/... ./internal/...

test-short:
	$(GO) test -short ./...

bench:
	./bench/run.sh

# Regenerate golden outputs after a deliberate change; review the diff.
golden:
	$(GO) run ./cmd/streamx-gencap -cases testdata/synthetic
	$(GO) test ./cmd/streamx -run TestGolden -update

# The README's first command: the main job on the bundled sample capture.
sample: build
	rm -rf out/sample
	$(BIN) extract testdata/real/sample/capture.pcap -o out/sample

clean:
	rm -rf bin out bench/work
