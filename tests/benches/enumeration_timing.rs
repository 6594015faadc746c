//! Does the time of sign-in or forgot-password tell whether a phone has an account? Runs the real
//! handlers against moto, alternating a known and an unknown phone (each phone once per endpoint, so
//! neither the back-off nor the SMS cooldown starts), and prints the medians and their difference.
//! Target: under 10 ms.
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

    let mut signin = (Vec::with_capacity(samples), Vec::with_capacity(samples));
    let mut forgot = (Vec::with_capacity(samples), Vec::with_capacity(samples));
    env.clock.advance(61);
    for phone in &known_phones {
        let unknown_phone = fresh_phone();
        let start = Instant::now();
        let answer = env.sign_in(phone, "Wrong-password-1").await;
        signin.0.push(start.elapsed());
        assert_eq!(answer.body["error"], "invalid_grant");
        let start = Instant::now();
        let answer = env.sign_in(&unknown_phone, "Wrong-password-1").await;
        signin.1.push(start.elapsed());
        assert_eq!(answer.body["error"], "invalid_grant");

        let start = Instant::now();
        assert_eq!(env.forgot(phone).await.status, 200);
        forgot.0.push(start.elapsed());
        let start = Instant::now();
        assert_eq!(env.forgot(&unknown_phone).await.status, 200);
        forgot.1.push(start.elapsed());
    }
    println!("timing over {samples} calls each (real handlers, moto, this build's profile)");
    println!("{:<44} {:>9} {:>9} {:>9}", "case", "p10 ms", "p50 ms", "p90 ms");
    for (endpoint, (mut known, mut unknown), known_case) in
        [("sign-in", signin, "known phone, wrong password"), ("forgot", forgot, "known phone (SMS sent)")]
    {
        known.sort();
        unknown.sort();
        for (name, times) in [(known_case, &known), ("unknown phone", &unknown)] {
            println!(
                "{:<44} {:>9.2} {:>9.2} {:>9.2}",
                format!("{endpoint}: {name}"),
                ms(percentile(times, 0.1)),
                ms(percentile(times, 0.5)),
                ms(percentile(times, 0.9))
            );
        }
        let difference = ms(percentile(&known, 0.5)) - ms(percentile(&unknown, 0.5));
        let verdict = if difference.abs() < 10.0 { "under" } else { "OVER" };
        println!("{endpoint}: median difference (known - unknown): {difference:+.2} ms ({verdict} the 10 ms target)");
    }
}
