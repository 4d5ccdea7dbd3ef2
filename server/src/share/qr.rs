//! The invite link as a QR code, drawn as SVG right here: no image
//! library, no network.

use qrcode::render::svg;
use qrcode::QrCode;

/// The smallest side, in pixels, of the drawn code.
const MIN_SIDE: u32 = 240;

/// An SVG document of `text`'s QR code, dark on white (phones read that
/// best, whatever the page's theme), or `None` if it is too long for one.
pub fn svg(text: &str) -> Option<String> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    let drawn = code
        .render::<svg::Color>()
        .min_dimensions(MIN_SIDE, MIN_SIDE)
        .quiet_zone(true)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    // The XML prolog is not wanted when the SVG sits inside an HTML page.
    let start = drawn.find("<svg")?;
    Some(drawn[start..].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_becomes_an_svg_square() {
        let drawn = svg("http://198.18.0.1:7070/join/0123456789abcdef0123456789abcdef")
            .expect("fits in a QR code");
        assert!(drawn.starts_with("<svg"), "{drawn}");
        assert!(drawn.ends_with("</svg>"));
        assert!(drawn.contains("<path"));
        assert!(!drawn.contains("<script"));
    }

    #[test]
    fn the_same_link_draws_the_same_code_and_another_a_different_one() {
        let a = svg("http://198.18.0.1:7070/join/aaaa");
        assert_eq!(a, svg("http://198.18.0.1:7070/join/aaaa"));
        assert_ne!(a, svg("http://198.18.0.1:7070/join/bbbb"));
    }
}
