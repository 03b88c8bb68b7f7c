"""stance: stance and claim annotation of news, from articles to Label Studio and back."""

__version__ = "0.1.0"
