"""Reports: results rendered for people (the terminal now; a self-contained HTML file next).

Renderers read results or their JSON form (``to_dict()``), never compute: what a report shows
is exactly what the experiment wrote.
"""
