//! Certificates: days until the peer certificate expires.

/// Whole days (rounded down) from `now` until the certificate's notAfter; negative once expired.
/// `None` when the DER does not parse.
pub fn days_until_expiry(der: &[u8], now: chrono::DateTime<chrono::Utc>) -> Option<i64> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let not_after = cert.validity().not_after.timestamp();
    Some((not_after - now.timestamp()).div_euclid(86_400))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_whole_days_to_not_after_rounding_down() {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        params.not_after = rcgen::date_time_ymd(2030, 1, 11);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        let der = cert.der();
        assert_eq!(days_until_expiry(der, at("2030-01-01T00:00:00Z")), Some(10));
        assert_eq!(days_until_expiry(der, at("2030-01-01T00:00:01Z")), Some(9));
        assert_eq!(days_until_expiry(der, at("2030-01-12T00:00:00Z")), Some(-1));
        assert_eq!(
            days_until_expiry(b"not a certificate", at("2030-01-01T00:00:00Z")),
            None
        );
    }
}
