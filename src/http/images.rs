//! Server-rendered PNGs: the QR code of an `otpauth://` URI, and the backup-codes sheet
//! ("Save as image"). Drawn with tiny-skia; text with ab_glyph and the DejaVu Sans Mono font
//! committed under `assets/fonts` (Bitstream Vera licence).

use std::sync::LazyLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use qrcode::{Color, QrCode};
use tiny_skia::{Paint, PathBuilder, Pixmap, Rect, Stroke, Transform};

use super::sheet::{CodesLabel, KEEP_SAFE, WORKS_ONCE};

static REGULAR: LazyLock<Option<FontRef<'static>>> = LazyLock::new(|| {
    FontRef::try_from_slice(include_bytes!("../../assets/fonts/DejaVuSansMono.ttf")).ok()
});
static BOLD: LazyLock<Option<FontRef<'static>>> = LazyLock::new(|| {
    FontRef::try_from_slice(include_bytes!("../../assets/fonts/DejaVuSansMono-Bold.ttf")).ok()
});

/// A PNG of the QR code for `text`, `scale` pixels per module with a 4-module quiet zone.
///
/// # Errors
/// When the text is too long for a QR code or PNG encoding fails.
pub fn qr_png(text: &str, scale: u32) -> anyhow::Result<Vec<u8>> {
    let code = QrCode::new(text.as_bytes())?;
    let width = u32::try_from(code.width())?;
    let size = (width + 8) * scale;
    let mut pixmap =
        Pixmap::new(size, size).ok_or_else(|| anyhow::anyhow!("QR image too large"))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    let mut black = Paint::default();
    black.set_color_rgba8(0, 0, 0, 255);
    for (i, c) in code.to_colors().iter().enumerate() {
        if *c == Color::Dark {
            let (x, y) = (
                (i as u32 % width + 4) * scale,
                (i as u32 / width + 4) * scale,
            );
            if let Some(r) = Rect::from_xywh(x as f32, y as f32, scale as f32, scale as f32) {
                pixmap.fill_rect(r, &black, Transform::identity(), None);
            }
        }
    }
    Ok(pixmap.encode_png()?)
}

/// Draws `text` with its baseline at (`x`, `y`).
fn text(
    pixmap: &mut Pixmap,
    font: &FontRef<'_>,
    size: f32,
    x: f32,
    y: f32,
    rgb: (u8, u8, u8),
    s: &str,
) {
    let scaled = font.as_scaled(PxScale::from(size));
    let mut caret = x;
    let (w, h) = (pixmap.width(), pixmap.height());
    for ch in s.chars() {
        let mut glyph = scaled.scaled_glyph(ch);
        let advance = scaled.h_advance(glyph.id);
        glyph.position = ab_glyph::point(caret, y);
        if let Some(outlined) = font.outline_glyph(glyph) {
            let b = outlined.px_bounds();
            let data = pixmap.data_mut();
            outlined.draw(|gx, gy, coverage| {
                let (px, py) = (
                    b.min.x as i64 + i64::from(gx),
                    b.min.y as i64 + i64::from(gy),
                );
                if px < 0 || py < 0 || px >= i64::from(w) || py >= i64::from(h) {
                    return;
                }
                let i = ((py as usize) * (w as usize) + px as usize) * 4;
                let a = coverage.clamp(0.0, 1.0);
                for (k, c) in [rgb.0, rgb.1, rgb.2].into_iter().enumerate() {
                    data[i + k] =
                        (f32::from(data[i + k]) * (1.0 - a) + f32::from(c) * a).round() as u8;
                }
                data[i + 3] = 255;
            });
        }
        caret += advance;
    }
}

fn text_width(font: &FontRef<'_>, size: f32, s: &str) -> f32 {
    let scaled = font.as_scaled(PxScale::from(size));
    s.chars()
        .map(|c| scaled.h_advance(scaled.glyph_id(c)))
        .sum()
}

/// The backup-codes sheet: title, username, server and date ([`CodesLabel`]), the codes in a two-column grid; used
/// codes are grey and struck through.
///
/// # Errors
/// When the font cannot be read or PNG encoding fails.
pub fn backup_codes_png(label: &CodesLabel, codes: &[(String, bool)]) -> anyhow::Result<Vec<u8>> {
    let (Some(regular), Some(bold)) = (REGULAR.as_ref(), BOLD.as_ref()) else {
        anyhow::bail!("the embedded font could not be read");
    };
    let rows = codes.len().div_ceil(2) as u32;
    let (width, top) = (720u32, 200u32);
    let height = top + rows * 64 + 110;
    let mut pixmap =
        Pixmap::new(width, height).ok_or_else(|| anyhow::anyhow!("image too large"))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    let ink = (22, 24, 29);
    let muted = (91, 98, 112);
    text(
        &mut pixmap,
        bold,
        34.0,
        48.0,
        70.0,
        ink,
        "Twofold backup codes",
    );
    text(
        &mut pixmap,
        regular,
        22.0,
        48.0,
        112.0,
        ink,
        &format!("@{}", label.username),
    );
    text(
        &mut pixmap,
        regular,
        18.0,
        48.0,
        146.0,
        muted,
        &label.subtitle(),
    );
    let mut line = Paint::default();
    line.set_color_rgba8(223, 227, 234, 255);
    if let Some(r) = Rect::from_xywh(48.0, 170.0, (width - 96) as f32, 2.0) {
        pixmap.fill_rect(r, &line, Transform::identity(), None);
    }
    let mut strike = Paint::default();
    strike.set_color_rgba8(150, 150, 150, 255);
    for (i, (code, used)) in codes.iter().enumerate() {
        let (col, row) = ((i % 2) as f32, (i / 2) as u32);
        let x = 72.0 + col * 320.0;
        let y = (top + row * 64 + 40) as f32;
        let label = format!("{:>2}.", i + 1);
        text(&mut pixmap, regular, 20.0, x - 8.0, y, muted, &label);
        let cx = x + 50.0;
        let color = if *used { (160, 160, 160) } else { ink };
        text(&mut pixmap, bold, 32.0, cx, y, color, code);
        if *used {
            let w = text_width(bold, 32.0, code);
            let mut pb = PathBuilder::new();
            pb.move_to(cx - 4.0, y - 11.0);
            pb.line_to(cx + w + 4.0, y - 11.0);
            if let Some(path) = pb.finish() {
                let stroke = Stroke {
                    width: 3.0,
                    ..Stroke::default()
                };
                pixmap.stroke_path(&path, &strike, &stroke, Transform::identity(), None);
            }
            text(
                &mut pixmap,
                regular,
                15.0,
                cx + w + 14.0,
                y - 4.0,
                (160, 160, 160),
                "used",
            );
        }
    }
    let foot = (top + rows * 64 + 50) as f32;
    text(&mut pixmap, regular, 17.0, 48.0, foot, muted, WORKS_ONCE);
    text(
        &mut pixmap,
        regular,
        17.0,
        48.0,
        foot + 28.0,
        muted,
        KEEP_SAFE,
    );
    Ok(pixmap.encode_png()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_pngs() {
        let qr = qr_png(
            "otpauth://totp/Twofold:alice?secret=GEZDGNBV&issuer=Twofold",
            4,
        )
        .unwrap();
        assert_eq!(&qr[..8], b"\x89PNG\r\n\x1a\n");
        let codes = vec![
            ("1234 5678".to_owned(), false),
            ("8765 4321".to_owned(), true),
            ("1111 2222".to_owned(), false),
        ];
        let label = CodesLabel {
            username: "alice".into(),
            server: "auth.example.com".into(),
            made: "25 Nov 2026".into(),
        };
        let sheet = backup_codes_png(&label, &codes).unwrap();
        assert_eq!(&sheet[..8], b"\x89PNG\r\n\x1a\n");
        let decoded = Pixmap::decode_png(&sheet).unwrap();
        assert_eq!(decoded.width(), 720);
        // Something dark was drawn (the text), not just a white page.
        assert!(
            decoded
                .data()
                .chunks(4)
                .any(|p| p[0] < 60 && p[1] < 60 && p[2] < 60)
        );
    }
}
