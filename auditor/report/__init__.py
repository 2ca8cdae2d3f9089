"""Reports: terminal table, JSON, HTML with plotly timelines."""
