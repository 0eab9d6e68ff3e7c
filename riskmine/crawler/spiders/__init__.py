"""riskmine's spiders: news, reviews, notices, complaints. They only fetch and yield DocumentItems."""
