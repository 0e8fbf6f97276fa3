//! A realserver's answer to the check script (hostile input): the parser
//! never panics, and what it accepts never carries text that could act on a
//! terminal or a shell into a finding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvstop::checks::realserver::{check, parse, Ctx, Serve};
use lvstop::checks::{shell_quote, Host};
use lvstop::model::Protocol;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(facts) = parse(&text) else { return };
    for a in &facts.addrs {
        assert_eq!(shell_quote(&a.dev), a.dev, "an interface name that needs quoting: {:?}", a.dev);
    }
    for dev in facts.links.keys() {
        assert_eq!(shell_quote(dev), *dev, "an interface name that needs quoting: {dev:?}");
    }
    let serves = [
        Serve { vip: [198, 51, 100, 100].into(), port: 80, tunnel: false, active_conns: Some(3), protocol: Protocol::Tcp },
        Serve { vip: [198, 51, 100, 101].into(), port: 53, tunnel: true, active_conns: None, protocol: Protocol::Udp },
    ];
    let director = [("198.51.100.1".parse().expect("ip"), 24)];
    let cx = Ctx {
        host: Host::Realserver("198.51.100.11".parse().expect("ip")),
        facts: &facts,
        serves: &serves,
        dip: Some([198, 51, 100, 1].into()),
        director: &director,
    };
    let (found, more) = check(&cx);
    for f in found {
        for t in [f.message.clone(), f.evidence.to_string(), f.fix.to_string(), f.subject.to_string()] {
            assert!(lvstop::text::is_clean(&t), "a control character in a finding: {t:?}");
        }
    }
    for m in more {
        for t in m.subjects.iter().map(ToString::to_string).chain([m.summary(6)]) {
            assert!(lvstop::text::is_clean(&t), "a control character in a finding past the limit: {t:?}");
        }
    }
});
