# Everyday targets; the README's two commands (scripts/run, scripts/test) need nothing else.
.PHONY: test lint fmt bench run

test:            ## the whole suite, as CI runs it
	scripts/test

lint:            ## clippy with warnings as errors, and formatting check
	cargo clippy --all-targets --locked -- -D warnings
	cargo fmt --check

fmt:             ## format the code
	cargo fmt

bench:           ## compile, build, compatibility, snapshot, merge, extract and docs benchmarks (release build)
	cargo build --release --locked
	bench/compile_speed.sh target/release/tmk
	bench/build_speed.sh target/release/tmk
	bench/compat.sh target/release/tmk
	bench/snapshot_speed.sh target/release/tmk
	bench/test_speed.sh target/release/tmk
	bench/merge_speed.sh target/release/tmk
	bench/extract_speed.sh target/release/tmk
	bench/docs_speed.sh target/release/tmk

run:             ## build the warehouse on the embedded PostgreSQL
	scripts/run
