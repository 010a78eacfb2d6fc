//! The fuzz targets (`gltf_cloud::fuzzing`) on every `cargo test`: the committed seed corpus
//! (`fuzz/corpus/<target>/`), then deterministic mutations of it. `make fuzz` runs the same bodies
//! under libFuzzer for longer; this keeps each one honest in CI, which cannot afford a nightly
//! sanitizer build, and replays every crash input added to the corpus.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use gltf_cloud::fuzzing::TARGETS;

/// Mutations tried per target, unless its time budget runs out first.
const MUTATIONS: usize = 3000;

/// Time for one target's mutations, so a slow machine keeps the whole test to a few seconds.
const BUDGET: Duration = Duration::from_millis(1500);

/// `FUZZ_SECONDS=N` instead runs each target's mutations for N seconds with no count limit: a
/// longer run where the nightly libFuzzer build is not at hand.
fn budget() -> (usize, Duration) {
    match std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        Some(seconds) => (usize::MAX, Duration::from_secs(seconds)),
        None => (MUTATIONS, BUDGET),
    }
}

/// Inputs grown past this are cut back, so mutations stay cheap.
const MAX_INPUT: usize = 64 * 1024;

/// The xorshift64 generator: deterministic, so a failure reproduces from the seed printed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n.max(1) as u64).unwrap()
    }
}

/// Bytes that matter to these parsers: JSON and multipart punctuation, digits, signs, and
/// boundaries of integer ranges.
const INTERESTING: &[u8] = b"{}[]\":,-+.eE0123456789_\r\n=\\/\x00\xff\x7f\x80 ";

/// One random edit (or a few) of `input`, as libFuzzer's simplest mutators do.
fn mutate(rng: &mut Rng, input: &mut Vec<u8>, corpus: &[Vec<u8>]) {
    for _ in 0..=rng.below(4) {
        let len = input.len();
        match rng.below(7) {
            0 if len > 0 => {
                let i = rng.below(len);
                input[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                input[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 => {
                let i = rng.below(len + 1);
                input.insert(i, INTERESTING[rng.below(INTERESTING.len())]);
            }
            3 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(64)).min(len);
                input.drain(start..end);
            }
            4 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(256)).min(len);
                let chunk = input[start..end].to_vec();
                let at = rng.below(len + 1);
                input.splice(at..at, chunk);
            }
            5 if len > 0 => input.truncate(rng.below(len)),
            6 => {
                // Splice in a piece of another seed, as libFuzzer's cross-over does.
                let other = &corpus[rng.below(corpus.len())];
                if !other.is_empty() {
                    let start = rng.below(other.len());
                    let end = (start + 1 + rng.below(512)).min(other.len());
                    let at = rng.below(len + 1);
                    input.splice(at..at, other[start..end].iter().copied());
                }
            }
            _ => {}
        }
    }
    input.truncate(MAX_INPUT);
}

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "{}: no seed inputs", dir.display());
    paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

#[test]
fn every_target_survives_its_seed_corpus_and_mutations_of_it() {
    let (mutations, budget) = budget();
    for (index, (name, body)) in TARGETS.iter().enumerate() {
        let corpus = seeds(name);
        for input in &corpus {
            body(input);
        }
        let seed = 0x9E37_79B9_7F4A_7C15 ^ (index as u64 + 1);
        let mut rng = Rng(seed);
        let started = Instant::now();
        let mut runs = 0;
        while runs < mutations && started.elapsed() < budget {
            let mut input = corpus[rng.below(corpus.len())].clone();
            mutate(&mut rng, &mut input, &corpus);
            let outcome = std::panic::catch_unwind(|| body(&input));
            assert!(
                outcome.is_ok(),
                "{name}: mutation {runs} (xorshift seed {seed:#x}) panicked on {:?}",
                String::from_utf8_lossy(&input[..input.len().min(200)])
            );
            runs += 1;
        }
        eprintln!("{name}: {} seeds, {runs} mutations", corpus.len());
    }
}
