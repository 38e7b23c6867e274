use super::*;
use crate::rng::Streams;
use crate::time::{HOUR, MIN};

fn trace(text: &str, interpolate: Interpolate, looped: bool) -> Shape {
    let opts = TraceOptions {
        scale: 1.0,
        speed: 1.0,
        interpolate,
        looped,
    };
    Shape::Trace(parse_trace(text, opts).expect("a good trace"))
}

fn rng() -> Rng {
    Streams::new(7).stream("arrivals")
}

#[test]
fn a_constant_rate_draws_one_gap_per_shopper_as_before_shapes() {
    let p = Process::new(20.0, Shape::Constant);
    let (mut a, mut b) = (rng(), rng());
    let mut t = 0;
    for _ in 0..1000 {
        let want = t + b.exp(SEC as f64 / 20.0).round() as u64;
        t = p.next(&mut a, t).expect("arrives");
        assert_eq!(t, want);
    }
}

#[test]
fn a_step_trace_holds_each_row_and_a_linear_one_joins_them() {
    let text = "offset,rate\n0,10\n60,50\n120,10\n";
    let step = Process::new(0.0, trace(text, Interpolate::Step, false));
    let line = Process::new(0.0, trace(text, Interpolate::Linear, false));
    assert_eq!(step.rate_at(59 * SEC), 10.0);
    assert_eq!(step.rate_at(60 * SEC), 50.0);
    assert_eq!(line.rate_at(30 * SEC), 30.0);
    assert_eq!(line.rate_at(90 * SEC), 30.0);
    // Past the last row its rate holds, unless looped.
    assert_eq!(line.rate_at(HOUR), 10.0);
    let looped = Process::new(0.0, trace(text, Interpolate::Linear, true));
    assert_eq!(looped.rate_at(120 * SEC + 30 * SEC), 30.0);
}

#[test]
fn offsets_take_durations_and_the_trace_plays_faster_with_speed() {
    let opts = TraceOptions {
        scale: 2.0,
        speed: 24.0,
        interpolate: Interpolate::Step,
        looped: false,
    };
    let tr = parse_trace("# a day\n0h,5\n12h,20\n", opts).expect("good");
    let p = Process::new(0.0, Shape::Trace(tr));
    assert_eq!(p.rate_at(30 * MIN - 1), 10.0);
    assert_eq!(p.rate_at(30 * MIN), 40.0);
}

/// Every piece's bound is at least the rate anywhere in the piece, or
/// thinning would draw too few shoppers there.
#[test]
fn each_piece_bounds_the_rate_within_it() {
    let shapes = [
        trace("0,1\n100,40\n250,3\n400,1\n", Interpolate::Linear, true),
        trace("0,1\n100,40\n250,0\n", Interpolate::Step, false),
        Shape::Diurnal {
            peak: 40.0,
            trough: 4.0,
            peak_at: 20 * HOUR + 7 * MIN,
            period: 24 * HOUR,
        },
        Shape::Spike {
            start: 10 * MIN,
            length: 2 * MIN,
            factor: 5.0,
        },
    ];
    for shape in shapes {
        let p = Process::new(8.0, shape);
        let mut t = 0;
        while t < 30 * HOUR {
            let (bound, end) = p.piece(t);
            assert!(end > t, "{:?}: a piece ends after it starts", p.shape);
            let stop = end.min(t + 2 * HOUR);
            let step = ((stop - t) / 50).max(1);
            for s in (t..stop).step_by(step as usize) {
                assert!(p.rate_at(s) <= bound + 1e-9, "{:?} at {s}", p.shape);
            }
            t = stop;
        }
    }
}

#[test]
fn silent_stretches_are_skipped_and_a_silent_trace_never_arrives() {
    let p = Process::new(0.0, trace("0,0\n600,5\n", Interpolate::Step, false));
    let first = p.next(&mut rng(), 0).expect("arrives");
    assert!(first >= 600 * SEC);
    for looped in [false, true] {
        let quiet = Process::new(0.0, trace("0,0\n60,0\n", Interpolate::Linear, looped));
        assert_eq!(quiet.next(&mut rng(), 0), None);
    }
    assert_eq!(Process::new(0.0, Shape::Constant).next(&mut rng(), 0), None);
}

#[test]
fn set_arrivals_replaces_the_shape_with_a_constant_rate() {
    let mut p = Process::new(5.0, trace("0,1\n60,100\n", Interpolate::Step, false));
    p.set_rate(12.0);
    assert_eq!(p.rate_at(HOUR), 12.0);
}

#[test]
fn a_bad_row_is_named_by_line_and_column() {
    let opts = TraceOptions {
        scale: 1.0,
        speed: 1.0,
        interpolate: Interpolate::Step,
        looped: false,
    };
    let cases = [
        ("0,1\n\n# note\n10, -3\n", 4, 5, "rate -3"),
        ("offset,rate\n0,1\n10\n", 3, 3, "1 fields"),
        ("0,1\nsoon,2\n", 2, 1, "offset \"soon\""),
        ("", 1, 1, "no rows"),
        ("5,1\n", 1, 1, "first row"),
    ];
    for (text, line, column, what) in cases {
        let e = parse_trace(text, opts).expect_err(text);
        assert_eq!((e.line, e.column), (line, column), "{text:?}: {e}");
        assert!(e.message.contains(what), "{text:?}: {e}");
    }
    let looped = TraceOptions {
        looped: true,
        ..opts
    };
    assert!(
        parse_trace("0,1\n", looped).is_err(),
        "a loop needs a length"
    );
}
