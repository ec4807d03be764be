//! `--plot`: an SVG chart of wall time against set size, one line per mode, with the
//! primitive floor of each mode dashed beside it. Both axes are logarithmic.

use plotters::prelude::*;

/// One line of the chart.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Series {
    /// Legend text.
    pub(crate) label: String,
    /// `(set size, seconds)`, in size order.
    pub(crate) points: Vec<(f64, f64)>,
    /// Drawn dashed (the floors).
    pub(crate) dashed: bool,
}

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
];

/// The chart as SVG text.
///
/// # Errors
///
/// The drawing library's error, as text (nothing to draw is not an error: the chart
/// is then empty).
pub(crate) fn render(title: &str, x_label: &str, series: &[Series]) -> Result<String, String> {
    let points = || series.iter().flat_map(|s| s.points.iter().copied());
    let positive = |v: f64| v.is_finite() && v > 0.0;
    let xs: Vec<f64> = points().map(|p| p.0).filter(|&v| positive(v)).collect();
    let ys: Vec<f64> = points().map(|p| p.1).filter(|&v| positive(v)).collect();
    let range = |v: &[f64]| {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(0.0, f64::max);
        if lo.is_finite() && hi > 0.0 {
            (lo / 1.5, hi * 1.5)
        } else {
            (1.0, 10.0)
        }
    };
    let (x0, x1) = range(&xs);
    let (y0, y1) = range(&ys);

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 560)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc("wall time, s (median)")
            .x_label_formatter(&|x| format_size(*x))
            .y_label_formatter(&|y| trim_number(*y))
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, s) in series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            let pts: Vec<(f64, f64)> = s
                .points
                .iter()
                .copied()
                .filter(|&(x, y)| positive(x) && positive(y))
                .collect();
            let style = color.stroke_width(2);
            let drawn = if s.dashed {
                chart.draw_series(DashedLineSeries::new(pts.clone(), 8, 5, style))
            } else {
                chart.draw_series(LineSeries::new(pts.clone(), style))
            }
            .map_err(|e| e.to_string())?;
            drawn
                .label(s.label.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
            chart
                .draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))
                .map_err(|e| e.to_string())?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// `1`, `10`, `0.25`: up to three decimals, no trailing zeros.
fn trim_number(y: f64) -> String {
    let s = format!("{y:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Axis labels for set sizes: `2^20` for powers of two, `1e4`-style otherwise.
fn format_size(x: f64) -> String {
    let rounded = x.round();
    if rounded >= 1.0 && (x - rounded).abs() < 1e-6 {
        let n = rounded as u64;
        if n >= 1024 && n.is_power_of_two() {
            return format!("2^{}", n.trailing_zeros());
        }
    }
    if x >= 1000.0 {
        format!("{x:.0e}")
    } else {
        format!("{x:.0}")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn draws_one_line_per_series_with_a_legend() {
        let series = vec![
            Series {
                label: "intersection".into(),
                points: vec![(1e4, 0.5), (1e5, 4.8), (1_048_576.0, 50.0)],
                dashed: false,
            },
            Series {
                label: "floor (intersection)".into(),
                points: vec![(1e4, 0.4), (1e5, 4.1), (1_048_576.0, 43.0)],
                dashed: true,
            },
        ];
        let svg = render("title", "items per side", &series).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        assert!(svg.contains("floor (intersection)"));
        assert!(svg.contains("items per side"));
        assert!(svg.matches("<polyline").count() >= 2);
    }

    #[test]
    fn a_single_point_or_nothing_still_draws() {
        let one = [Series {
            label: "cardinality".into(),
            points: vec![(300.0, 0.02)],
            dashed: false,
        }];
        assert!(render("t", "x", &one).unwrap().contains("cardinality"));
        assert!(render("t", "x", &[]).unwrap().starts_with("<svg"));
    }

    #[test]
    fn size_labels() {
        assert_eq!(format_size(1_048_576.0), "2^20");
        assert_eq!(format_size(300.0), "300");
        assert_eq!(format_size(10_000.0), "1e4");
        assert_eq!(trim_number(10.0), "10");
        assert_eq!(trim_number(0.25), "0.25");
    }
}
