//! Drawing: each chart is drawn once per backend (SVG text, RGB bitmap encoded as PNG).

use super::Variant;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::sync::Once;

const SIZE: (u32, u32) = (1000, 650);

const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A chart that can be drawn on any backend.
pub trait Chart {
    /// Draws the chart on `area`.
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB>;
}

fn register_font() {
    static FONT: Once = Once::new();
    FONT.call_once(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
            .map_err(|_| ())
            .expect("the embedded DejaVu Sans font loads");
    });
}

/// `NAME.svg` and `NAME.png` of `chart`.
pub fn both(name: &str, chart: &impl Chart) -> Result<Vec<(String, Vec<u8>)>, String> {
    register_font();
    let err = |e: &dyn std::fmt::Display| format!("cannot draw {name}: {e}");
    let mut svg = String::new();
    {
        let area = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        chart.draw(&area).map_err(|e| err(&e))?;
        area.present().map_err(|e| err(&e))?;
    }
    let (w, h) = SIZE;
    let mut rgb = vec![0u8; w as usize * h as usize * 3];
    {
        let area = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
        chart.draw(&area).map_err(|e| err(&e))?;
        area.present().map_err(|e| err(&e))?;
    }
    let mut png_bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut png_bytes, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(|e| err(&e))?;
        writer.write_image_data(&rgb).map_err(|e| err(&e))?;
    }
    Ok(vec![(format!("{name}.svg"), svg.into_bytes()), (format!("{name}.png"), png_bytes)])
}

/// Draws the legend of `chart` at `position` in the fixed style of every dhtsim plot.
fn legend<'a, DB: DrawingBackend + 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
    font_size: u32,
) -> DrawResult<DB> {
    chart
        .configure_series_labels()
        .position(position)
        .label_font(("sans-serif", font_size))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()
}

/// A legend sample: a short line in colour `c`.
fn swatch<C: Color + Copy>(c: C, width: u32) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], c.stroke_width(width))
}

/// Tick values 1, 2, 5, 10, 20, 50, ... from `lo` up to `hi`.
fn one_two_five(lo: f64, hi: f64) -> Vec<f64> {
    let mut ticks = Vec::new();
    let mut decade = 1.0;
    while decade <= hi {
        for m in [1.0, 2.0, 5.0] {
            let t = decade * m;
            if (lo..=hi).contains(&t) {
                ticks.push(t);
            }
        }
        decade *= 10.0;
    }
    ticks
}

/// A panel of lines over virtual time in minutes (the time-series plots' panels), its legend at
/// `legend_at` (position and font size) or none.
fn minutes_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    t_max: f64,
    y_top: f64,
    series: Vec<(String, Vec<(f64, f64)>)>,
    legend_at: Option<(SeriesLabelPosition, u32)>,
) -> DrawResult<DB> {
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(55)
        .caption(caption, ("sans-serif", 16))
        .build_cartesian_2d(0f64..t_max, 0f64..y_top)?;
    chart
        .configure_mesh()
        .x_desc("minutes")
        .label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 13))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for (i, (label, points)) in series.into_iter().enumerate() {
        let c = color(i);
        chart
            .draw_series(LineSeries::new(points, c.stroke_width(2)))?
            .label(label)
            .legend(swatch(c, 2));
    }
    match legend_at {
        Some((position, size)) => legend(&mut chart, position, size),
        None => Ok(()),
    }
}

/// Mean hops vs N with p5–p95 bands and the two reference curves.
pub struct HopsVsN<'a> {
    /// The variants to draw.
    pub variants: &'a [Variant],
}

impl Chart for HopsVsN<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        area.fill(&WHITE)?;
        let ns = self.variants.iter().flat_map(|v| v.by_n.iter().map(|p| p.n as f64));
        let (n_min, n_max) = ns.fold((f64::MAX, 1.0f64), |(lo, hi), n| (lo.min(n), hi.max(n)));
        let y_floor = 0.5;
        let ring_max = (n_max - 1.0) / 2.0;
        let top = self
            .variants
            .iter()
            .flat_map(|v| v.by_n.iter().map(|p| p.p95 as f64))
            .fold(ring_max, f64::max)
            .max(2.0)
            * 1.6;
        let mut chart = ChartBuilder::on(area)
            .caption("Lookup hops vs number of peers", ("sans-serif", 26))
            .margin(20)
            .x_label_area_size(55)
            .y_label_area_size(70)
            .build_cartesian_2d(
                ((n_min / 1.4).max(1.0)..n_max * 1.4).log_scale().with_key_points(
                    self.variants
                        .iter()
                        .flat_map(|v| v.by_n.iter().map(|p| p.n))
                        .collect::<std::collections::BTreeSet<u64>>()
                        .into_iter()
                        .map(|n| n as f64)
                        .collect(),
                ),
                (y_floor..top).log_scale().with_key_points(one_two_five(1.0, top)),
            )?;
        chart
            .configure_mesh()
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| format!("{y}"))
            .x_desc("peers N (log scale)")
            .y_desc("hops per lookup (log scale)")
            .axis_desc_style(("sans-serif", 18))
            .label_style(("sans-serif", 15))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        for (i, v) in self.variants.iter().enumerate() {
            let c = color(i);
            let clamp = |y: f64| y.max(y_floor);
            let mut band: Vec<(f64, f64)> =
                v.by_n.iter().map(|p| (p.n as f64, clamp(p.p95 as f64))).collect();
            band.extend(v.by_n.iter().rev().map(|p| (p.n as f64, clamp(p.p5 as f64))));
            chart.draw_series(std::iter::once(Polygon::new(band, c.mix(0.15).filled())))?;
            let means: Vec<(f64, f64)> =
                v.by_n.iter().map(|p| (p.n as f64, clamp(p.mean))).collect();
            chart
                .draw_series(LineSeries::new(means.clone(), c.stroke_width(3)))?
                .label(format!("{} (mean ± 95 % CI over seeds, p5–p95 band)", v.label))
                .legend(swatch(c, 3));
            chart.draw_series(means.iter().map(|&p| Circle::new(p, 4, c.filled())))?;
            // 95 % confidence interval of the mean over seeds (often smaller than the marker).
            chart.draw_series(v.by_n.iter().filter_map(|p| {
                let ci = p.ci95?;
                let (x, lo, hi) = (p.n as f64, clamp(p.mean - ci), clamp(p.mean + ci));
                Some(PathElement::new(vec![(x, lo), (x, hi)], c.stroke_width(2)))
            }))?;
        }
        let grid: Vec<f64> = (0..=60)
            .map(|k| {
                (n_min / 1.4).max(1.0)
                    * (n_max * 1.4 / (n_min / 1.4).max(1.0)).powf(k as f64 / 60.0)
            })
            .collect();
        let ring: Vec<(f64, f64)> =
            grid.iter().map(|&n| (n, ((n - 1.0) / 2.0).max(y_floor))).collect();
        let chord: Vec<(f64, f64)> = grid.iter().map(|&n| (n, 0.5 * n.log2() + 1.0)).collect();
        let (black, gray) = (BLACK.mix(0.7), RGBColor(90, 90, 90));
        chart
            .draw_series(DashedLineSeries::new(ring, 8, 6, black.stroke_width(2)))?
            .label("(N-1)/2: successor-only ring")
            .legend(swatch(black, 2));
        chart
            .draw_series(DashedLineSeries::new(chord, 3, 4, gray.stroke_width(2)))?
            .label("½·log2 N + 1: Chord fingers")
            .legend(swatch(gray, 2));
        legend(&mut chart, SeriesLabelPosition::UpperLeft, 15)?;
        Ok(())
    }
}

/// Cumulative hop-count distribution per variant at one N.
pub struct HopDistribution<'a> {
    /// The variants to draw.
    pub variants: &'a [Variant],
    /// The number of peers to show.
    pub n: u64,
}

impl Chart for HopDistribution<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        area.fill(&WHITE)?;
        let at_n: Vec<(usize, &super::Pooled)> = self
            .variants
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.by_n.iter().find(|p| p.n == self.n).map(|p| (i, p)))
            .collect();
        let max_h =
            at_n.iter().filter_map(|(_, p)| p.hist.last()).map(|&(h, _)| h).max().unwrap_or(1);
        let mut chart = ChartBuilder::on(area)
            .caption(format!("Hop count distribution at N = {}", self.n), ("sans-serif", 26))
            .margin(20)
            .x_label_area_size(55)
            .y_label_area_size(70)
            .build_cartesian_2d(
                (1f64..(max_h.max(2) as f64) * 1.3)
                    .log_scale()
                    .with_key_points(one_two_five(1.0, (max_h.max(2) as f64) * 1.3)),
                0f64..1.02,
            )?;
        chart
            .configure_mesh()
            .x_label_formatter(&|x| format!("{x}"))
            .x_desc("hops h (log scale; lookups of 0 hops are counted at h = 1)")
            .y_desc("fraction of lookups with at most h hops")
            .axis_desc_style(("sans-serif", 18))
            .label_style(("sans-serif", 15))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        for (i, p) in at_n {
            let c = color(i);
            let mut steps = Vec::with_capacity(p.hist.len() * 2);
            let mut cum = 0u64;
            for &(h, count) in &p.hist {
                let x = (h.max(1)) as f64;
                steps.push((x, cum as f64 / p.lookups as f64));
                cum += count;
                steps.push((x, cum as f64 / p.lookups as f64));
            }
            let label = format!(
                "{} (mean {:.2} hops, {} lookups)",
                self.variants[i].label, p.mean, p.lookups
            );
            chart
                .draw_series(LineSeries::new(steps, c.stroke_width(3)))?
                .label(label)
                .legend(swatch(c, 3));
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight, 15)?;
        Ok(())
    }
}

/// Routing failures, lost keys, mean hops and timeouts per lookup against the churn level, one
/// panel each, one line per variant.
pub struct ChurnEffects<'a> {
    /// (label, points by churn level) per variant.
    pub variants: &'a [(String, Vec<super::ChurnPoint>)],
    /// What the churn level is.
    pub axis: super::ChurnAxis,
}

impl Chart for ChurnEffects<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        area.fill(&WHITE)?;
        let (title, body) = area.split_vertically(50);
        let (heading, x_desc) = match self.axis {
            super::ChurnAxis::Session => (
                "Lookups under churn (x: mean session time, log scale; shorter = more churn)",
                "mean session",
            ),
            super::ChurnAxis::Rate => (
                "Lookups under churn (x: joins and departures per second, log scale)",
                "rate (per s)",
            ),
        };
        title.titled(heading, ("sans-serif", 22))?;
        let panels = body.split_evenly((2, 2));
        let xs = self.variants.iter().flat_map(|(_, p)| p.iter().map(|c| c.x));
        let (x_min, x_max) = xs.fold((f64::MAX, 0.0f64), |(lo, hi), x| (lo.min(x), hi.max(x)));
        let x_range = (x_min / 1.3).max(1e-3)..x_max * 1.3;
        let keys: Vec<f64> = {
            let mut v: Vec<f64> =
                self.variants.iter().flat_map(|(_, p)| p.iter().map(|c| c.x)).collect();
            v.sort_by(f64::total_cmp);
            v.dedup();
            v
        };
        type Metric = fn(&super::ChurnPoint) -> f64;
        let metrics: [(&str, Metric); 4] = [
            ("routing failures: failed or wrong owner (fraction)", |c| c.failure_rate),
            ("lost keys: not found at the owner (fraction)", |c| c.lost_rate),
            ("mean hops per lookup", |c| c.hops_mean),
            ("timeouts per lookup", |c| c.timeouts_per_lookup),
        ];
        for (panel, (name, metric)) in panels.iter().zip(metrics) {
            let y_max = self
                .variants
                .iter()
                .flat_map(|(_, p)| p.iter().map(metric))
                .fold(0.0f64, f64::max)
                .max(1e-3)
                * 1.15;
            let mut chart = ChartBuilder::on(panel)
                .margin(12)
                .x_label_area_size(45)
                .y_label_area_size(60)
                .caption(name, ("sans-serif", 17))
                .build_cartesian_2d(
                    x_range.clone().log_scale().with_key_points(keys.clone()),
                    0f64..y_max,
                )?;
            chart
                .configure_mesh()
                .x_label_formatter(&|x| match self.axis {
                    super::ChurnAxis::Session => format_seconds(*x),
                    super::ChurnAxis::Rate => format!("{x}"),
                })
                .x_desc(x_desc)
                .label_style(("sans-serif", 13))
                .axis_desc_style(("sans-serif", 14))
                .light_line_style(WHITE.mix(0.0))
                .draw()?;
            for (i, (label, points)) in self.variants.iter().enumerate() {
                let c = color(i);
                let line: Vec<(f64, f64)> = points.iter().map(|p| (p.x, metric(p))).collect();
                chart
                    .draw_series(LineSeries::new(line.clone(), c.stroke_width(2)))?
                    .label(label.clone())
                    .legend(swatch(c, 2));
                chart.draw_series(line.iter().map(|&p| Circle::new(p, 3, c.filled())))?;
            }
            if name.starts_with("routing") {
                legend(&mut chart, SeriesLabelPosition::UpperRight, 12)?;
            }
        }
        Ok(())
    }
}

/// "10 min", "1 h", "90 s".
fn format_seconds(s: f64) -> String {
    if s >= 3600.0 && (s / 3600.0).fract() == 0.0 {
        format!("{} h", s / 3600.0)
    } else if s >= 60.0 && (s / 60.0).fract() == 0.0 {
        format!("{} min", s / 60.0)
    } else {
        format!("{s} s")
    }
}

/// Live peers, lookup outcomes, correct pointers and lost keys over time, for one run.
pub struct TimeSeries<'a> {
    /// Which run.
    pub run: u64,
    /// Its samples.
    pub samples: &'a [super::TsPoint],
}

impl Chart for TimeSeries<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        area.fill(&WHITE)?;
        let (title, body) = area.split_vertically(45);
        title.titled(&format!("Run {} over virtual time", self.run), ("sans-serif", 22))?;
        let panels = body.split_evenly((2, 2));
        let t_max = self.samples.last().map_or(1.0, |s| s.t_ms as f64 / 60_000.0).max(1e-3);
        let minutes = |s: &super::TsPoint| s.t_ms as f64 / 60_000.0;
        type Series = Vec<(&'static str, Vec<(f64, f64)>)>;
        let panel = |area: &DrawingArea<DB, Shift>, caption: &str, series: Series, y_top: f64| {
            let legend_at = (series.len() > 1).then_some((SeriesLabelPosition::LowerLeft, 12));
            let series = series.into_iter().map(|(label, points)| (label.to_string(), points));
            minutes_panel(area, caption, t_max, y_top, series.collect(), legend_at)
        };
        let s = self.samples;
        let live: Vec<(f64, f64)> = s.iter().map(|p| (minutes(p), p.live as f64)).collect();
        let live_top = live.iter().map(|p| p.1).fold(1.0, f64::max) * 1.15;
        panel(&panels[0], "live peers", vec![("live", live)], live_top)?;
        let share = |f: fn(&super::TsPoint) -> u64| -> Vec<(f64, f64)> {
            s.iter()
                .filter(|p| p.lookups > 0)
                .map(|p| (minutes(p), f(p) as f64 / p.lookups as f64))
                .collect()
        };
        let outcomes = vec![("ok", share(|p| p.ok)), ("failed", share(|p| p.failed))];
        panel(&panels[1], "share of the lookups ending in each interval", outcomes, 1.05)?;
        let pointers = vec![
            ("successor", s.iter().map(|p| (minutes(p), p.succ)).collect()),
            ("predecessor", s.iter().map(|p| (minutes(p), p.pred)).collect()),
            ("fingers", s.iter().map(|p| (minutes(p), p.fingers)).collect()),
        ];
        panel(&panels[2], "share of peers whose pointers are right", pointers, 1.05)?;
        let lost: Vec<(f64, f64)> = s.iter().map(|p| (minutes(p), p.lost as f64)).collect();
        let lost_top = lost.iter().map(|p| p.1).fold(1.0, f64::max) * 1.15;
        panel(&panels[3], "stored keys lost", vec![("lost", lost)], lost_top)?;
        Ok(())
    }
}

/// The share of members whose successor is right over virtual time, one line per sweep point: a
/// ring being built (by joins) converging, or not.
pub struct RingConvergence<'a> {
    /// (legend text, (minutes, share)) per sweep point.
    pub curves: &'a [(String, Vec<(f64, f64)>)],
}

impl Chart for RingConvergence<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        area.fill(&WHITE)?;
        let t_max =
            self.curves.iter().flat_map(|(_, c)| c.last().map(|p| p.0)).fold(1e-3, f64::max);
        let legend_at = Some((SeriesLabelPosition::LowerRight, 14));
        minutes_panel(
            area,
            "Share of members whose successor is right",
            t_max,
            1.05,
            self.curves.to_vec(),
            legend_at,
        )
    }
}

/// The share of each variant's leechers that completed within each download time (pooled over
/// its seeds; leechers that never completed keep a curve below 1).
pub struct DownloadCdf<'a> {
    /// The variants.
    pub variants: &'a [super::SwarmVariant<'a>],
}

impl Chart for DownloadCdf<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        area.fill(&WHITE)?;
        let x_max = self
            .variants
            .iter()
            .filter_map(|v| v.downloads_s.last().copied())
            .fold(1.0f64, f64::max)
            * 1.05;
        let mut chart = ChartBuilder::on(area)
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .caption("Download time (arrival to completion)", ("sans-serif", 22))
            .build_cartesian_2d(0f64..x_max, 0f64..1.02)?;
        chart
            .configure_mesh()
            .x_desc("download time, s")
            .y_desc("share of leechers completed")
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 15))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        for (i, v) in self.variants.iter().enumerate() {
            let c = color(i);
            let n = v.leechers.max(1) as f64;
            let mut points = vec![(0.0, 0.0)];
            for (k, &t) in v.downloads_s.iter().enumerate() {
                points.push((t, k as f64 / n));
                points.push((t, (k + 1) as f64 / n));
            }
            if let Some(&(_, y)) = points.last() {
                points.push((x_max, y));
            }
            chart
                .draw_series(LineSeries::new(points, c.stroke_width(2)))?
                .label(v.label.clone())
                .legend(swatch(c, 2));
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight, 13)
    }
}

/// The cumulative distribution of lookup latency at one N, one line per variant.
pub struct LatencyCdf<'a> {
    /// Each variant's label and latency histogram ((ms, lookups), ascending).
    pub curves: &'a [(String, Vec<(u64, u64)>)],
    /// The number of peers shown.
    pub n: u64,
}

impl Chart for LatencyCdf<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        area.fill(&WHITE)?;
        let last = self.curves.iter().filter_map(|(_, h)| h.last()).map(|&(ms, _)| ms);
        let x_max = last.max().unwrap_or(1).max(1) as f64 * 1.05;
        let mut chart = ChartBuilder::on(area)
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .caption(format!("Lookup latency at N = {}", self.n), ("sans-serif", 22))
            .build_cartesian_2d(0f64..x_max, 0f64..1.02)?;
        chart
            .configure_mesh()
            .x_label_formatter(&|x| format!("{x:.0}"))
            .x_desc("latency, ms")
            .y_desc("share of lookups at most this long")
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 15))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        for (i, (label, hist)) in self.curves.iter().enumerate() {
            let c = color(i);
            let n = hist.iter().map(|&(_, count)| count).sum::<u64>().max(1) as f64;
            let mut points = vec![(0.0, 0.0)];
            let mut seen = 0;
            for &(ms, count) in hist {
                points.push((ms as f64, seen as f64 / n));
                seen += count;
                points.push((ms as f64, seen as f64 / n));
            }
            points.push((x_max, 1.0));
            chart
                .draw_series(LineSeries::new(points, c.stroke_width(2)))?
                .label(label.clone())
                .legend(swatch(c, 2));
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight, 13)
    }
}

/// Seeders and leechers over time, one line per variant (its first run).
pub struct SwarmPopulation<'a> {
    /// The variants.
    pub variants: &'a [super::SwarmVariant<'a>],
}

impl Chart for SwarmPopulation<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        area.fill(&WHITE)?;
        let (title, body) = area.split_vertically(45);
        title.titled("Swarm population over virtual time", ("sans-serif", 22))?;
        let panels = body.split_evenly((1, 2));
        let t_max = self
            .variants
            .iter()
            .filter_map(|v| v.population.last().map(|p| p.0))
            .fold(1e-3f64, f64::max);
        for (panel, (caption, pick)) in panels.iter().zip([
            ("leechers", (|p: &(f64, u64, u64)| p.2) as fn(&(f64, u64, u64)) -> u64),
            ("seeders", |p: &(f64, u64, u64)| p.1),
        ]) {
            let top = self
                .variants
                .iter()
                .flat_map(|v| v.population.iter().map(pick))
                .max()
                .unwrap_or(1)
                .max(1) as f64
                * 1.1;
            let series = self
                .variants
                .iter()
                .map(|v| {
                    let points = v.population.iter().map(|p| (p.0, pick(p) as f64)).collect();
                    (v.label.clone(), points)
                })
                .collect();
            let legend_at = Some((SeriesLabelPosition::UpperRight, 11));
            minutes_panel(panel, caption, t_max, top, series, legend_at)?;
        }
        Ok(())
    }
}

/// Li et al.'s cost-versus-performance picture: one point per parameter setting (maintenance
/// bytes per live peer per second, median lookup latency), each protocol's convex hull.
pub struct CostVsLatency<'a> {
    /// Per protocol: its points and the hull through them (cheapest first).
    pub protocols: &'a [super::CostCurve],
}

impl Chart for CostVsLatency<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        area.fill(&WHITE)?;
        let all = || self.protocols.iter().flat_map(|p| p.points.iter());
        let (x_lo, x_hi) =
            all().fold((f64::MAX, f64::MIN), |(lo, hi), p| (lo.min(p.cost), hi.max(p.cost)));
        let (y_lo, y_hi) = all()
            .fold((f64::MAX, f64::MIN), |(lo, hi), p| (lo.min(p.latency_ms), hi.max(p.latency_ms)));
        let x_range = (x_lo / 1.5).max(1e-3)..x_hi * 1.5;
        let y_range = (y_lo / 1.5).max(1.0)..y_hi * 1.5;
        let x_keys = one_two_five(x_range.start, x_range.end);
        let y_keys = one_two_five(y_range.start, y_range.end);
        let mut chart = ChartBuilder::on(area)
            .caption(
                "Cost vs performance: one point per setting, each protocol's convex hull",
                ("sans-serif", 22),
            )
            .margin(20)
            .x_label_area_size(55)
            .y_label_area_size(75)
            .build_cartesian_2d(
                x_range.log_scale().with_key_points(x_keys),
                y_range.log_scale().with_key_points(y_keys),
            )?;
        chart
            .configure_mesh()
            .x_desc("maintenance traffic per live peer (bytes/s, log scale)")
            .y_desc("median lookup latency (ms, log scale)")
            .x_label_formatter(&|x| format!("{x}"))
            .y_label_formatter(&|y| format!("{y}"))
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .draw()?;
        for (i, curve) in self.protocols.iter().enumerate() {
            let c = color(i);
            let hull: Vec<(f64, f64)> = curve.hull.iter().map(|p| (p.cost, p.latency_ms)).collect();
            chart
                .draw_series(LineSeries::new(hull, c.stroke_width(2)))?
                .label(format!("{} (convex hull)", curve.protocol))
                .legend(swatch(c, 2));
            chart.draw_series(
                curve.points.iter().map(|p| Circle::new((p.cost, p.latency_ms), 4, c.filled())),
            )?;
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight, 14)
    }
}
