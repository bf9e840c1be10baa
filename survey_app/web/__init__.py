"""What every blueprint shares on the web side: sign-in and permissions at the door,
error pages, language, labels, the filter forms and the code form.
"""
