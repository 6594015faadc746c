//! Does sign-in time tell whether a phone has an account? Runs the real token handler against moto,
//! alternating an unknown phone and a known phone with a wrong password (each phone once, so the
//! back-off never starts), and prints the medians and their difference. Target: under 10 ms.
//!
//! `SAMPLES=200 make bench-enumeration` for more samples (default 60).

use std::time::{Duration, Instant};

use e2e::{TestEnv, fresh_phone};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let samples: usize = std::env::var("SAMPLES").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let env = TestEnv::new().await;
    let mut known_phones = Vec::with_capacity(samples);
    for _ in 0..samples {
        let phone = fresh_phone();
        env.registered(&phone, "Known-account-7").await;
        known_phones.push(phone);
    }
    // Warm up connections and the allocator on both paths.
    for _ in 0..3 {
        env.sign_in(&fresh_phone(), "Wrong-password-1").await;
    }

    let (mut known, mut unknown) = (Vec::with_capacity(samples), Vec::with_capacity(samples));
    for phone in &known_phones {
        let start = Instant::now();
        let answer = env.sign_in(phone, "Wrong-password-1").await;
        known.push(start.elapsed());
        assert_eq!(answer.body["error"], "invalid_grant");

        let start = Instant::now();
        let answer = env.sign_in(&fresh_phone(), "Wrong-password-1").await;
        unknown.push(start.elapsed());
        assert_eq!(answer.body["error"], "invalid_grant");
    }
    known.sort();
    unknown.sort();
    let difference = ms(percentile(&known, 0.5)) - ms(percentile(&unknown, 0.5));
    println!("sign-in timing over {samples} calls each (real handler, moto, this build's profile)");
    println!("{:<34} {:>9} {:>9} {:>9}", "case", "p10 ms", "p50 ms", "p90 ms");
    for (name, times) in [("known phone, wrong password", &known), ("unknown phone", &unknown)] {
        println!(
            "{name:<34} {:>9.2} {:>9.2} {:>9.2}",
            ms(percentile(times, 0.1)),
            ms(percentile(times, 0.5)),
            ms(percentile(times, 0.9))
        );
    }
    let verdict = if difference.abs() < 10.0 { "under" } else { "OVER" };
    println!("median difference (known - unknown): {difference:+.2} ms ({verdict} the 10 ms target)");
}
