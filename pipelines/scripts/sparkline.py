"""A small SVG sparkline, drawn by hand (no plotting library)."""


from xml.sax.saxutils import escape


def svg(values, title="", width=240, height=48, stroke="#0072b2"):
    if not values:
        return '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d"><title>%s</title></svg>\n' % (
            width,
            height,
            escape(title),
        )
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = width / max(len(values) - 1, 1)
    points = " ".join(
        "%.1f,%.1f" % (i * step, height - 2 - (v - low) / span * (height - 4))
        for i, v in enumerate(values)
    )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d"><title>%s</title>'
        '<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/></svg>\n'
        % (width, height, escape(title), stroke, points)
    )
