//! canonicalize_json + hash128 at a few payload sizes, to compare with the JS backend and to see
//! where the parse, the encode and the hash each start to dominate.

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use flujo_core::{canonicalize_json, hash128, hash_json};

/// An array of `n` small records, a typical step input shape.
fn records(n: usize) -> String {
    let mut json = String::from("[");
    for i in 0..n {
        if i > 0 {
            json.push(',');
        }
        let _ = write!(
            json,
            r#"{{"id":{i},"name":"item-{i}","tags":["a","b\u00e9"],"score":{},"ok":true,"meta":null}}"#,
            i as f64 * 0.5
        );
    }
    json.push(']');
    json
}

fn bench(c: &mut Criterion) {
    let mut inputs: Vec<(String, String)> = vec![
        ("short-string".to_string(), r#""hello world""#.to_string()),
        (
            "3-key-object".to_string(),
            r#"{"b":2,"a":"x","c":[true,null]}"#.to_string(),
        ),
    ];
    for n in [10, 1_000, 10_000] {
        inputs.push((format!("records-{n}"), records(n)));
    }

    let mut group = c.benchmark_group("hash_json");
    for (name, json) in &inputs {
        group.throughput(Throughput::Bytes(json.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), json, |b, json| {
            b.iter(|| hash_json(black_box(json.as_bytes())))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("canonicalize_json");
    for (name, json) in &inputs {
        group.throughput(Throughput::Bytes(json.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), json, |b, json| {
            b.iter(|| canonicalize_json(black_box(json.as_bytes())))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("hash128");
    for size in [16usize, 1024, 1 << 20] {
        let bytes = vec![0x5au8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &bytes, |b, bytes| {
            b.iter(|| hash128(black_box(bytes)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
