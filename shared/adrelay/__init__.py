"""adrelay: publish one campaign to Meta, TikTok and Snapchat, reliably."""
