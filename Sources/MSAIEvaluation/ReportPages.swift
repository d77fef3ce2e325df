import Foundation

// What the report's templates show, already formatted: the templates hold no logic, and every
// value reaches them through one of these stored properties (mustache reads them by reflection).

struct Setting { let name: String; let value: String }

struct ImageRow {
    let image: String
    let mode: String
    let size: String
    let areas: String
    let decision: String
    let reason: String
    let npcrWhole: String
    let uaciWhole: String
    let npcrAreas: String
    let uaciAreas: String
    let wu: String
    let wuFailed: Bool
    let psnr: String
    let psnrFailed: Bool
    let leak: String
    let leaks: Bool

    init(_ r: EvaluationReport) {
        image = r.image
        mode = r.mode
        size = "\(r.width)×\(r.height)×\(r.channels)"
        areas = "\(r.regions.count)"
        decision = r.maskDecision
        reason = r.maskReason
        npcrWhole = RunReport.format(r.npcrWhole, digits: 2)
        uaciWhole = RunReport.format(r.uaciWhole, digits: 2)
        npcrAreas = RunReport.format(r.npcrAreas, digits: 2)
        uaciAreas = RunReport.format(r.uaciAreas, digits: 2)
        wu = r.wuVerdicts == 0 ? "–" : "\(r.wuVerdictsPassed)/\(r.wuVerdicts)"
        wuFailed = r.wuVerdictsPassed != r.wuVerdicts
        psnr = r.psnrRecovered.isInfinite ? "∞" : RunReport.format(r.psnrRecovered, digits: 2)
        psnrFailed = !r.recoveredIdentical
        leak = RunReport.format(r.leakShare, digits: 6)
        leaks = r.leakShare > 0
    }
}

struct EntropyRow {
    let image: String
    let entropyWhole: String
    let localEntropyWhole: String
    let entropyAreas: String
    let correlationAreas: String
    let edgeCorrelation: String

    init(_ r: EvaluationReport) {
        func arrow(_ a: Double?, _ b: Double?) -> String { "\(RunReport.format(a, digits: 3)) → \(RunReport.format(b, digits: 3))" }
        image = r.image
        entropyWhole = arrow(r.entropy["original_whole"], r.entropy["masked_whole"])
        localEntropyWhole = arrow(r.localEntropy["original_whole"] ?? nil, r.localEntropy["masked_whole"] ?? nil)
        entropyAreas = r.npcrAreas == nil ? "–" : arrow(r.entropy["original_areas"], r.entropy["masked_areas"])
        edgeCorrelation = RunReport.format(r.edgeCorrelationAreas, digits: 4)
        let dirs = ["horizontal", "vertical", "diagonal"]
        if let o = r.correlation["original_areas"], let m = r.correlation["masked_areas"] {
            correlationAreas = dirs.map { RunReport.format(o[$0] ?? nil, digits: 3) }.joined(separator: "/") + " → "
                + dirs.map { RunReport.format(m[$0] ?? nil, digits: 3) }.joined(separator: "/")
        } else {
            correlationAreas = "–"
        }
    }
}

struct TimingRow {
    static let steps = ["detect", "membrane", "mask", "scramble", "encode", "seal", "open", "decode", "unscramble", "unmask"]
    let image: String
    let cells: [String]

    init(_ r: EvaluationReport) {
        image = r.image
        cells = Self.steps.map { RunReport.format(r.timingsMs[$0], digits: 2) }
    }
}

struct WuRow {
    let image: String
    let comparison: String
    let npcr: String
    let npcrCritical: String
    let npcrPass: Bool
    let uaci: String
    let uaciRange: String
    let uaciPass: Bool
    let failed: Bool
    /// Which of the two failed, if any.
    let verdict: String

    init(image: String, test: EvaluationReport.WuTest) {
        self.image = image
        comparison = test.comparison
        npcr = RunReport.format(test.npcr, digits: 4)
        npcrCritical = RunReport.format(test.npcrCritical, digits: 4)
        npcrPass = test.npcrPass
        uaci = RunReport.format(test.uaci, digits: 4)
        uaciRange = "\(RunReport.format(test.uaciLower, digits: 4))…\(RunReport.format(test.uaciUpper, digits: 4))"
        uaciPass = test.uaciPass
        failed = !(test.npcrPass && test.uaciPass)
        verdict = test.npcrPass && test.uaciPass ? "pass" : test.npcrPass ? "UACI fails" : test.uaciPass ? "NPCR fails" : "both fail"
    }
}

struct PaperRow {
    let kind: String, size: String, area: String, npcr: String, uaci: String
    let image: String
    let smallAreas: String, smallNPCR: String, smallUACI: String
    let ownSize: String, ownAreas: String, ownNPCR: String, ownUACI: String
}

struct BaselineRow {
    let method: String, reversible: String, milliseconds: String
    let npcrWhole: String, uaciWhole: String, npcrAreas: String, uaciAreas: String, psnr: String
}

struct Thumbnail { let caption: String; let source: String }
struct Chart { let svg: String }

struct PictureSection {
    let image: String
    let thumbnails: [Thumbnail]
    let hasThumbnails: Bool
    let charts: [Chart]
    let hasCharts: Bool
}

struct RunPage {
    let runName: String
    let images: Int
    let failedCount: Int
    let identical: Int
    let allIdentical: Bool
    let wuTests: Int
    let wuFailures: Int
    let hasWuFailures: Bool
    let settings: [Setting]
    let hasSettings: Bool
    let isGF251: Bool
    let rows: [ImageRow]
    let entropyRows: [EntropyRow]
    let timingRows: [TimingRow]
    let wuRows: [WuRow]
    let failures: [String]
    let hasFailures: Bool
    let paperSize: String
    let paperRows: [PaperRow]
    let baselineRows: [BaselineRow]
    let pictures: [PictureSection]
    let style: String
}

struct Cell {
    let text: String
    let bad: Bool
    init(text: String, bad: Bool = false) {
        self.text = text
        self.bad = bad
    }
}

struct CompareRow { let name: String; let cells: [Cell]; let differs: Bool }
struct RunHeader { let name: String; let path: String; let report: String }
struct HistogramRow { let image: String; let charts: [Chart] }

struct ComparisonPage {
    let title: String
    let runs: [RunHeader]
    let runCount: Int
    let settings: [CompareRow]
    let summaries: [CompareRow]
    let metricNames: [Cell]
    let imageRows: [CompareRow]
    let hasShared: Bool
    let histogramRows: [HistogramRow]
    let style: String
}

extension RunReport {
    /// Fits a 1280-pixel screen: the wide figures are split over several narrow tables, numbers
    /// never wrap, and long image names are cut with their full name on hover.
    static let style = """
        body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:1240px}
        h1{font-size:1.5em}h2{margin-top:1.8em;font-size:1.2em}h3{font-size:1em;margin:1.2em 0 .3em}
        table{border-collapse:collapse;margin:.6em 0;font-size:13px}
        th,td{border:1px solid #ccc;padding:3px 6px;text-align:right;white-space:nowrap}
        th{background:#f0f0f0;font-weight:600}td:first-child,th:first-child{text-align:left}
        td.name{max-width:15em;overflow:hidden;text-overflow:ellipsis}td.text,th.text{text-align:left}
        td.list{white-space:normal;min-width:9em;max-width:16em;text-align:left}
        .fail{background:#fde2e0;color:#9b1c1c;font-weight:600}tr.failed td{background:#fff6f5}tr.failed td.fail{background:#fde2e0}.ok{color:#116a2b}.differs td{background:#fff4cc}
        .note{color:#555;font-size:13px;max-width:60em}
        figure{display:inline-block;margin:0 .8em .8em 0;vertical-align:top}figcaption{font-size:12px;text-align:center;max-width:170px}
        figure img{max-width:170px;max-height:170px;border:1px solid #ccc;image-rendering:auto}
        svg.histogram{background:#fcfcfc;border:1px solid #ddd;margin:0 .4em .4em 0}
        svg .axis{stroke:#777;stroke-width:1}svg .tick{font-size:9px;fill:#444}svg .label{font-size:10px;fill:#333}
        svg .title{font-size:10px;fill:#222}svg .series{fill:none;stroke-width:1.2}
        .log{display:none}body:has(#log-scale:checked) .log{display:inline}body:has(#log-scale:checked) .lin{display:none}
        .legend span{display:inline-block;margin-right:1.2em;font-size:12px}.swatch{display:inline-block;width:1.5em;height:0;border-top:2px solid;vertical-align:middle;margin-right:.3em}
        .scale{position:sticky;top:0;background:#fff;padding:.4em 0;border-bottom:1px solid #eee;font-size:13px}
        """

    static let runTemplate = """
        <!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>msai report: {{runName}}</title>
        <style>{{{style}}}</style></head><body>
        <h1>msai report: {{runName}}</h1>
        <p id="summary">{{images}} image(s) evaluated, {{failedCount}} failed;
        {{#allIdentical}}<span class="ok">{{identical}} of {{images}} recovered bit-exactly (PSNR = ∞)</span>{{/allIdentical}}{{^allIdentical}}<span class="fail">{{identical}} of {{images}} recovered bit-exactly (PSNR = ∞)</span>{{/allIdentical}};
        Wu tests: {{#hasWuFailures}}<span class="fail">{{wuFailures}} of {{wuTests}} failed</span>{{/hasWuFailures}}{{^hasWuFailures}}<span class="ok">all {{wuTests}} passed</span>{{/hasWuFailures}} (α = 0.05: an ideal masking fails 1 in 20).
        NPCR and UACI in percent.</p>

        <h2>Settings</h2>
        {{#hasSettings}}<table id="settings"><tr><th>setting</th><th>value</th></tr>
        {{#settings}}<tr><td>{{name}}</td><td class="text">{{value}}</td></tr>
        {{/settings}}</table>{{/hasSettings}}
        {{^hasSettings}}<p class="note">This folder has no run.json: the settings it was made with are not known.</p>{{/hasSettings}}

        <h2>Per image</h2>
        <table id="per-image"><tr><th>image</th><th>mode</th><th>size</th><th>areas</th><th>decision</th><th>NPCR whole</th><th>UACI whole</th>
        <th>NPCR areas</th><th>UACI areas</th><th>Wu passed</th><th>PSNR</th><th>leak share</th></tr>
        {{#rows}}<tr><td class="name" title="{{image}}">{{image}}</td><td class="text">{{mode}}</td><td>{{size}}</td><td>{{areas}}</td><td title="{{reason}}">{{decision}}</td>
        <td>{{npcrWhole}}</td><td>{{uaciWhole}}</td><td>{{npcrAreas}}</td><td>{{uaciAreas}}</td>
        <td{{#wuFailed}} class="fail"{{/wuFailed}}>{{wu}}</td><td{{#psnrFailed}} class="fail"{{/psnrFailed}}>{{psnr}}</td>
        <td{{#leaks}} class="fail"{{/leaks}}>{{leak}}</td></tr>
        {{/rows}}</table>
        <p class="note">Whole: the original against the masked, scrambled frame. Areas: the original areas against the masked
        areas before scrambling. Leak share: the fraction of area samples the masking left as they were{{#isGF251}} (gf251 leaves 0 and 251…255 in place){{/isGF251}}.</p>
        {{#hasFailures}}<h2>Failures</h2><ul id="failures">{{#failures}}<li class="fail">{{.}}</li>{{/failures}}</ul>{{/hasFailures}}

        <h2>Wu's tests</h2>
        <table id="wu-tests"><tr><th>image</th><th>comparison</th><th>NPCR</th><th>critical</th><th>UACI</th><th>acceptance range</th><th>verdict</th></tr>
        {{#wuRows}}<tr{{#failed}} class="failed"{{/failed}}><td class="name" title="{{image}}">{{image}}</td><td class="text">{{comparison}}</td>
        <td{{^npcrPass}} class="fail"{{/npcrPass}}>{{npcr}}</td><td>≥ {{npcrCritical}}</td><td{{^uaciPass}} class="fail"{{/uaciPass}}>{{uaci}}</td><td>{{uaciRange}}</td>
        <td{{#failed}} class="fail"{{/failed}}>{{verdict}}</td></tr>
        {{/wuRows}}</table>

        <h2>Entropy and correlation</h2>
        <table id="entropy"><tr><th>image</th><th>entropy whole, bits</th><th>local entropy whole</th><th>entropy areas</th><th>correlation areas h/v/d</th><th>edge maps areas</th></tr>
        {{#entropyRows}}<tr><td class="name" title="{{image}}">{{image}}</td><td>{{entropyWhole}}</td><td>{{localEntropyWhole}}</td><td>{{entropyAreas}}</td><td>{{correlationAreas}}</td><td>{{edgeCorrelation}}</td></tr>
        {{/entropyRows}}</table>
        <p class="note">Edge maps: the correlation of the original's and the masked view's Sobel edge maps over the areas; near 0 when no outline of the original shows.</p>

        <h2>Timings, ms</h2>
        <table id="timings"><tr><th>image</th><th>detect</th><th>membrane</th><th>mask</th><th>scramble</th><th>encode</th><th>seal</th><th>open</th><th>decode</th><th>unscramble</th><th>unmask</th></tr>
        {{#timingRows}}<tr><td class="name" title="{{image}}">{{image}}</td>{{#cells}}<td>{{.}}</td>{{/cells}}</tr>
        {{/timingRows}}</table>

        <h2>The paper's Tables 2 and 3, beside this run</h2>
        <p class="note">The paper masked one area per 256 × 256 image, found by YOLO v3. This run evaluates each bundled image
        of the same kind resized to 256 × 256 (the paper's setting) and at its own size, with the areas this run's
        policy found. Like the paper's Table 3, NPCR and UACI compare the original with the final masked and
        scrambled frame, as fractions. No fingerprint image is in any registry reachable here; a face portrait
        stands in for it.</p>
        <table id="paper-tables"><tr><th rowspan="2">image</th><th colspan="4">the paper (Tables 2 and 3)</th>
        <th colspan="4">this run at {{paperSize}}</th><th colspan="4">this run at the image's own size</th></tr>
        <tr><th>size</th><th>area</th><th>NPCR</th><th>UACI</th><th>image</th><th>areas</th><th>NPCR</th><th>UACI</th>
        <th>size</th><th>areas</th><th>NPCR</th><th>UACI</th></tr>
        {{#paperRows}}<tr><td>{{kind}}</td><td>{{size}}</td><td>{{area}}</td><td>{{npcr}}</td><td>{{uaci}}</td><td class="text">{{image}}</td><td class="list">{{smallAreas}}</td><td>{{smallNPCR}}</td><td>{{smallUACI}}</td><td>{{ownSize}}</td><td class="list">{{ownAreas}}</td><td>{{ownNPCR}}</td><td>{{ownUACI}}</td></tr>
        {{/paperRows}}</table>

        <h2>Baselines in the same run</h2>
        <p class="note">Means over the images. NPCR and UACI compare the original with what leaves the camera, over the whole frame
        and at the areas' positions (for MSAI, its masked areas before scrambling); PSNR of what leaves the camera against
        the original (lower hides more). Encryption hides everything, including what is not sensitive; blur and pixelation
        cannot be undone; the scrambling alone leaves every area's pixel values as they were, only moved.</p>
        <table id="baselines"><tr><th>method</th><th>reversible</th><th>ms per frame</th><th>NPCR whole</th><th>UACI whole</th>
        <th>NPCR areas</th><th>UACI areas</th><th>PSNR of output</th></tr>
        {{#baselineRows}}<tr><td>{{method}}</td><td class="text">{{reversible}}</td><td>{{milliseconds}}</td><td>{{npcrWhole}}</td><td>{{uaciWhole}}</td><td>{{npcrAreas}}</td><td>{{uaciAreas}}</td><td>{{psnr}}</td></tr>
        {{/baselineRows}}</table>

        <h2 id="pictures">Pictures and histograms of the areas (the paper's Figure 4)</h2>
        <div class="scale"><label><input type="checkbox" id="log-scale"> log scale</label>
        <span class="legend"><span><i class="swatch" style="border-color:#1f5fa8"></i>original areas</span><span><i class="swatch" style="border-color:#c0392b"></i>masked areas</span><span><i class="swatch" style="border-color:#222;border-top-style:dashed"></i>recovered areas (over the original when identical)</span></span>
        — every channel of an image on one count axis.</div>
        {{#pictures}}<section class="image"><h3>{{image}}</h3>
        {{#hasThumbnails}}<div class="thumbnails">{{#thumbnails}}<figure><img src="{{source}}" alt="{{caption}}"><figcaption>{{caption}}</figcaption></figure>{{/thumbnails}}</div>{{/hasThumbnails}}
        {{#hasCharts}}<div class="histograms">{{#charts}}{{{svg}}}{{/charts}}</div>{{/hasCharts}}
        </section>
        {{/pictures}}
        <p class="note">Made by msai report.</p></body></html>

        """

    static let comparisonTemplate = """
        <!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>msai runs compared: {{title}}</title>
        <style>{{{style}}}</style></head><body>
        <h1>msai runs compared: {{title}}</h1>
        <p class="note">Each run's own report: {{#runs}}<a href="{{report}}">{{name}}</a> ({{path}}) {{/runs}}</p>

        <h2>Settings</h2>
        <table id="settings"><tr><th>setting</th>{{#runs}}<th>{{name}}</th>{{/runs}}</tr>
        {{#settings}}<tr{{#differs}} class="differs"{{/differs}}><td>{{name}}</td>{{#cells}}<td class="text">{{text}}</td>{{/cells}}</tr>
        {{/settings}}</table>
        <p class="note">Settings that differ between the runs are marked.</p>

        <h2>Summary</h2>
        <table id="summary"><tr><th></th>{{#runs}}<th>{{name}}</th>{{/runs}}</tr>
        {{#summaries}}<tr><td>{{name}}</td>{{#cells}}<td{{#bad}} class="fail"{{/bad}}>{{text}}</td>{{/cells}}</tr>
        {{/summaries}}</table>

        <h2>Per image</h2>
        {{#hasShared}}<table id="per-image"><tr><th rowspan="2">image</th>{{#runs}}<th colspan="4">{{name}}</th>{{/runs}}</tr>
        <tr>{{#metricNames}}<th>{{text}}</th>{{/metricNames}}</tr>
        {{#imageRows}}<tr><td class="name" title="{{name}}">{{name}}</td>{{#cells}}<td{{#bad}} class="fail"{{/bad}}>{{text}}</td>{{/cells}}</tr>
        {{/imageRows}}</table>
        <p class="note">NPCR and UACI of the areas in percent; leak: the share of area samples left as they were; Wu: tests passed.</p>{{/hasShared}}
        {{^hasShared}}<p class="note">The runs share no image.</p>{{/hasShared}}

        <h2>Histograms of the masked areas</h2>
        <div class="scale"><label><input type="checkbox" id="log-scale"> log scale</label>
        <span class="legend"><span><i class="swatch" style="border-color:#c0392b"></i>red</span><span><i class="swatch" style="border-color:#27ae60"></i>green</span><span><i class="swatch" style="border-color:#1f5fa8"></i>blue</span><span><i class="swatch" style="border-color:#444"></i>gray</span></span>
        — the runs of one image on one count axis.</div>
        {{#histogramRows}}<section class="image"><h3>{{image}}</h3><div class="histograms">{{#charts}}{{{svg}}}{{/charts}}</div></section>
        {{/histogramRows}}
        <p class="note">Made by msai report.</p></body></html>

        """
}
